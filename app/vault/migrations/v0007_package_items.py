"""Which order items went in which package (Orders API ``packageItems``).

Labels and partial shipments need it.  One row per entry of a package's list, in
Amazon's order; rows go with their package (a package rewritten by the sync, an order or
a store removed).  Packages stored before this version have no rows until Amazon next
sends their order.
"""

SQL = """
CREATE TABLE package_items (
    order_rowid   INTEGER NOT NULL,
    package_ref   TEXT NOT NULL,
    position      INTEGER NOT NULL,                  -- in the package's packageItems list
    order_item_id TEXT NOT NULL,                     -- order_items.order_item_id
    quantity      INTEGER NOT NULL,
    PRIMARY KEY (order_rowid, package_ref, position),
    FOREIGN KEY (order_rowid, package_ref)
        REFERENCES packages(order_rowid, package_ref) ON DELETE CASCADE
) WITHOUT ROWID;
"""

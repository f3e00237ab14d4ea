"""Orders the sync could not fully read (an unknown status, an item without an ASIN).

``orders.attention`` says in plain words what was odd; NULL for a well-formed order.
Such an order is stored with what could be read instead of stopping the sync.
"""

SQL = """
ALTER TABLE orders ADD COLUMN attention TEXT;
"""

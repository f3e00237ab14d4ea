"""Reply drafting: offline templates or an AI provider behind the PII firewall."""

"""Holds: goods in doubt wait for a pharmacist to release or reject them."""

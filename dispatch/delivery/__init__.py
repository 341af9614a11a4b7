"""Delivery: proof-of-delivery rules (OTP, proof level, ID checks), the hand-off."""

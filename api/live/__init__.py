"""Live tracking and fan-out to websocket clients.

The hub and its connections, the frame envelope, rider positions, geofences,
ETAs, each rider's remaining stops and the patient's view of an order.
"""

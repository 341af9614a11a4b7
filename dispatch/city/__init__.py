"""The bundled city (OpenStreetMap): road graph, pharmacies, homes, service area."""

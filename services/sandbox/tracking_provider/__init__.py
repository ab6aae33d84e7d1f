"""Tracking provider (Kuaidi100 style): subscriptions, simulated parcel journeys, signed pushes and polling."""

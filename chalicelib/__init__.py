"""The contact center's Lambda code, one package per area (README, "Layout"): api/ and bootstrap.py
wire the areas; platform/ and telephony/ are shared by all of them."""

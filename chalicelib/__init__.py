"""The contact center's Lambda code: domain modules, adapters and wiring (see STYLE.md)."""

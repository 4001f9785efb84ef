"""The cockpit API (FastAPI): devices, readings and the 三级机长制 incident workflow."""

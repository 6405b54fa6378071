"""Reading models: Keras files (safe mode, config checked first) and in-memory models."""

"""Reading models: Keras files (safe mode, config checked first) and in-memory models."""

#: Set by the command line: TensorFlow's native start-up logs, written straight to the process'
#: stderr whatever ``TF_CPP_MIN_LOG_LEVEL`` says, are kept back (and shown if the import fails).
QUIET_IMPORT = False

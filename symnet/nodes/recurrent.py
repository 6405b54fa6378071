"""``LSTM``, ``GRU`` and ``RNN``: ONNX's recurrent operators."""

"""Recurrent layers: cells, the generic `RNN`, the fused SimpleRNN/LSTM/GRU and wrappers."""

"""What symnet computes from a graph: whole-network forms, simplification passes, linear
regions and pieces, the trace and the explanation of a value."""

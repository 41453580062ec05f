// HybsterClient module.

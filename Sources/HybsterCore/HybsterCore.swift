// HybsterCore module.

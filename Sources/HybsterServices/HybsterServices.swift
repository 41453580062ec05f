// HybsterServices module.

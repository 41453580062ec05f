// HybsterRuntime module.

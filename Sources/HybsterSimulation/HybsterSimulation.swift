// HybsterSimulation module.

// HybsterWire module.

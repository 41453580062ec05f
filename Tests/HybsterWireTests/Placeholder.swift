import Testing

@Test func placeholderHybsterWireTests() {}

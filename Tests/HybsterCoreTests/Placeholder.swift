import Testing

@Test func placeholderHybsterCoreTests() {}

import Testing

@Test func placeholderHybsterServicesTests() {}

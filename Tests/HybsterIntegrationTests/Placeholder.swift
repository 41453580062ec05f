import Testing

@Test func placeholderHybsterIntegrationTests() {}

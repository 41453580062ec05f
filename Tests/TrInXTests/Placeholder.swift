import Testing

@Test func placeholderTrInXTests() {}

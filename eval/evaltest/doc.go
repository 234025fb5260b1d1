// Package evaltest builds small synthetic LAReQA-style datasets and
// embeddings for tests of the evaluation code.
package evaltest

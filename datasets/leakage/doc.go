// Package leakage is the gate between training pairs and evaluation data.
//
// Check normalizes every text (Unicode NFC, case folding, white space
// collapsed) and looks for each evaluation query and candidate inside the
// training pairs' q_text and p_text: equal texts and evaluation texts
// contained in a longer training text (a sentence inside a
// sentence-with-context passage) both count. Evaluation texts shorter than
// MinChars characters are only compared for equality and reported apart
// without failing the check, because unrelated Wikipedia-derived sets share
// short boilerplate (see DefaultMinChars).
//
// The search indexes evaluation texts by their first MinChars characters and
// slides a MinChars window over each distinct training text, so the cost is
// linear in the training text length.
package leakage

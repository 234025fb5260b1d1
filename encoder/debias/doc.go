// Package debias removes language identity from sentence embeddings after
// encoding, without training: the training-free baseline that hybrid
// batching is compared with.
//
// Two methods, both fit on training-side texts only (never on the texts
// that are evaluated; Fit and Apply refuse overlapping ids):
//
//   - Centring ("center"): every vector is scaled to unit length, the mean
//     vector of each (role, language) of the fit set is subtracted, and the
//     result is scaled to unit length again (as in Libovický et al. 2020,
//     "On the language neutrality of pre-trained multilingual
//     representations"). A language the fit set lacks falls back to the
//     mean of its role over all fit languages.
//   - Projection ("project"): the per-language means (over both roles) are
//     centred on their average, the top `components` principal directions
//     of those means are found (eigenvectors of their small Gram matrix),
//     and every unit vector loses its components along them and is scaled
//     to unit length again (a linear nullspace projection in the spirit of
//     INLP, Ravfogel et al. 2020, with the language means as the signal).
//     It needs no per-language statistics at apply time, so it treats
//     unseen languages like seen ones.
//
// Steps: Fit reads a fit set and returns a Model; Model.Apply returns new
// embeddings and per-language counts; both check their inputs and say
// which file and which row is wrong.
package debias

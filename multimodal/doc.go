// Package multimodal is airvec's text and image embedding API, the
// service's multi-modal-embedding endpoint run in-process:
//
//	m, err := multimodal.Load("models/clip-vit-base-patch32")
//	resp, err := m.Embed(ctx, &multimodal.Request{Input: []multimodal.Input{
//		{Text: "a photo of a cat"},
//		{Image: "data:image/png;base64,iVBORw0..."},
//	}})
//
// Models: CLIP (CLIPModel) and Chinese-CLIP (ChineseCLIPModel) directories
// (or Hugging Face cache repo ids); the family is picked from config.json
// (architectures / model_type). GME-Qwen2-VL and M2-Encoder plug in as
// further backends (gme.go, m2.go). Embeddings are L2-normalised; for
// CLIP-style models an entry with both text and image embeds its text.
//
// Images are data URIs, plain base64, local paths or file:// URLs; http(s)
// URLs only through WithFetcher (airvec makes no network calls on its
// own). Servers answering untrusted clients should pass WithoutLocalFiles.
// Decoding and preprocessing reproduce PIL and transformers' image
// processors bit for bit on the supported formats (see internal/imageproc):
// the golden fixtures' pixel_values match exactly for PNG, JPEG and WebP.
// A pixel limit (WithMaxPixels) is checked from the image header before
// decoding; images are decoded in chunks of WithImageBatch, so decoded
// pixels held at once stay within batch × limit.
//
// Errors are *Error values in the service's shape (InvalidParameter naming
// the entry, e.g. "multimodal: input[3].image: image too large: ...").
//
// A Model is immutable and safe for concurrent use.
package multimodal

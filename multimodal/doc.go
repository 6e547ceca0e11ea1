// Package multimodal is airvec's text and image embedding API, the
// service's multi-modal-embedding endpoint run in-process:
//
//	m, err := multimodal.Load("models/clip-vit-base-patch32")
//	resp, err := m.Embed(ctx, &multimodal.Request{Input: []multimodal.Input{
//		{Text: "a photo of a cat"},
//		{Image: "data:image/png;base64,iVBORw0..."},
//	}})
//
// Models: CLIP (CLIPModel) and Chinese-CLIP (ChineseCLIPModel) directories;
// the family is picked from config.json (architectures / model_type). Other
// families (GME-Qwen2-VL, M2-Encoder) plug in as backends.
//
// Images are data URIs, plain base64, local paths or file:// URLs; http(s)
// URLs only through WithFetcher (airvec makes no network calls on its own).
// Decoding and preprocessing reproduce PIL and transformers' image
// processors (see internal/imageproc).
//
// A Model is immutable and safe for concurrent use.
package multimodal

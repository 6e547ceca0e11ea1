// Package imageproc turns the image inputs the service accepts into the
// float tensors vision towers consume, reproducing what Hugging Face image
// processors do on top of PIL:
//
//   - Load resolves an input string: data URIs (data:image/png;base64,...),
//     plain base64, local file paths and file:// URLs; http(s) URLs only
//     through a caller-supplied Fetcher (off by default: airvec makes no
//     network calls on its own).
//   - Decode sniffs the format (JPEG, PNG, GIF first frame, WebP, BMP, TIFF),
//     checks the pixel limit from the header before any pixel is decoded,
//     applies the EXIF orientation (PIL.ImageOps.exif_transpose) and converts
//     to 8-bit RGB the way PIL's Image.convert("RGB") does (alpha dropped, not
//     composited; grayscale replicated; palette looked up; CMYK with PIL's
//     formula; 16-bit gray clamped to 255 as PIL's I;16→RGB does).
//   - Resize is PIL's ImagingResample (Image.resize with reducing_gap=None)
//     reproduced exactly: separable convolution, normalised coefficients in
//     22-bit fixed point, rounding and clamping to uint8 after the horizontal
//     and after the vertical pass.
//   - CenterCrop, ShortestEdge, ToCHW (rescale in float64 then float32,
//     normalise in float32, channels first) follow transformers'
//     image_transforms; Processor reads a CLIP-style preprocessor_config.json.
//
// Decoder differences: PNG, GIF, BMP and TIFF decode bit-exactly as PIL does.
// JPEG and lossy WebP are decoded by Go's decoders (golang.org/x/image for
// WebP), whose IDCT, chroma upsampling and YCbCr→RGB rounding differ from
// libjpeg-turbo/libwebp; the size of that difference on the shared fixtures
// is measured in the tests (see README).
//
// Everything here is a pure function of its inputs and safe for concurrent
// use.
package imageproc

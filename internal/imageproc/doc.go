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
// Decoder parity: PNG, GIF, BMP and TIFF decode bit-exactly as PIL does.
// JPEG goes through this package's own decoder (baseline, extended and
// progressive Huffman, 8-bit, gray/YCbCr/RGB/CMYK/YCCK, any sampling
// libjpeg accepts), which reproduces libjpeg-turbo bit for bit: islow IDCT,
// fancy upsampling, color conversion, and the block smoothing of
// progressive files that end before their last scans (neighbour rows as
// libjpeg-turbo ≥ 3.0.1, which current Pillow wheels bundle). CMYK is read
// as PIL does (inverted "CMYK;I", then cmyk2rgb). Arithmetic-coded, 12-bit
// and lossless files fall back to image/jpeg, which differs from libjpeg by
// up to a few levels; a scan cut short goes there too (image/jpeg, like PIL
// by default, rejects it). Lossy WebP is decoded by golang.org/x/image/webp
// (VP8 reconstruction is exact by specification) and converted with
// libwebp's fancy upsampler and BT.601 coefficients: bit-exact against
// libwebp on the fixtures and on odd-sized and alpha test files. The first GIF frame is placed on its
// logical screen as PIL does (filled with the transparency index, raw
// color table, so a transparent entry keeps its stored color).
//
// Everything here is a pure function of its inputs and safe for concurrent
// use.
package imageproc

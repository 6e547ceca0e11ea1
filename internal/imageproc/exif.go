package imageproc

import (
	"bytes"
	"encoding/binary"
)

// exifOrientation returns the EXIF Orientation tag (274) of an encoded
// image, or 1 when there is none. It reads the containers PIL's getexif
// reads: JPEG APP1 "Exif", PNG eXIf, WebP EXIF chunk, TIFF IFD0.
func exifOrientation(f Format, data []byte) int {
	var tiffData []byte
	switch f {
	case JPEG:
		tiffData = jpegExif(data)
	case PNG:
		tiffData = pngExif(data)
	case WebP:
		tiffData = webpExif(data)
	case TIFF:
		tiffData = data
	}
	if tiffData == nil {
		return 1
	}
	return tiffOrientation(tiffData)
}

// jpegExif returns the TIFF block of the first APP1 Exif segment.
func jpegExif(d []byte) []byte {
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			return nil
		}
		m := d[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
			i += 2
			continue
		}
		if m == 0xDA || m == 0xD9 { // start of scan / end: no more headers
			return nil
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return nil
		}
		seg := d[i+4 : i+2+n]
		if m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

func pngExif(d []byte) []byte {
	i := 8
	for i+12 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[i:]))
		typ := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-12 {
			return nil
		}
		if typ == "eXIf" {
			return bytes.TrimPrefix(d[i+8:i+8+n], []byte("Exif\x00\x00"))
		}
		if typ == "IDAT" || typ == "IEND" {
			// eXIf must precede IDAT to count (PNG spec; PIL reads it there)
			return nil
		}
		i += 12 + n
	}
	return nil
}

func webpExif(d []byte) []byte {
	if len(d) < 12 {
		return nil
	}
	i := 12
	for i+8 <= len(d) {
		typ := string(d[i : i+4])
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || n > len(d)-i-8 {
			return nil
		}
		if typ == "EXIF" {
			return bytes.TrimPrefix(d[i+8:i+8+n], []byte("Exif\x00\x00"))
		}
		i += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads tag 274 from IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		switch bo.Uint16(t[e+2:]) { // type
		case 3: // SHORT
			return int(bo.Uint16(t[e+8:]))
		case 4: // LONG
			v := bo.Uint32(t[e+8:])
			if v > 8 {
				return 1
			}
			return int(v)
		}
		return 1
	}
	return 1
}

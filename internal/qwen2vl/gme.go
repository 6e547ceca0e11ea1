package qwen2vl

// GME's input handling (gme_inference.py, GmeQwen2VL.embed).

// DefaultInstruction is GME's system prompt for documents and for queries
// without an instruction.
const DefaultInstruction = "You are a helpful assistant."

// ImagePlaceholder is what GME writes for an image, before the text.
const ImagePlaceholder = "<|vision_start|><|image_pad|><|vision_end|>"

// Special token strings of the Qwen2-VL tokenizer that GME's prompt uses.
const (
	ImagePadToken = "<|image_pad|>"
	VideoPadToken = "<|video_pad|>"
)

// SystemPrompt is the system prompt GME uses: the instruction for queries
// that have one, else DefaultInstruction.
func SystemPrompt(isQuery bool, instruction string) string {
	if !isQuery || instruction == "" {
		return DefaultInstruction
	}
	return instruction
}

// Prompt is GME's chat prompt for one input (text may be empty; hasImage
// puts ImagePlaceholder before the text):
//
//	<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{image}{text}<|im_end|>\n<|im_start|>assistant\n<|endoftext|>
func Prompt(system, text string, hasImage bool) string {
	img := ""
	if hasImage {
		img = ImagePlaceholder
	}
	return "<|im_start|>system\n" + system + "<|im_end|>\n<|im_start|>user\n" + img + text +
		"<|im_end|>\n<|im_start|>assistant\n<|endoftext|>"
}

// ExpandImagePads is Qwen2VLProcessor's text expansion at the id level:
// the k-th image_token_id in ids becomes counts[k] copies. It returns nil
// when ids hold a different number of image tokens than len(counts).
func ExpandImagePads(ids []int, imageTokenID int, counts []int) []int {
	n := 0
	extra := 0
	for _, id := range ids {
		if id == imageTokenID {
			if n >= len(counts) {
				return nil
			}
			extra += counts[n] - 1
			n++
		}
	}
	if n != len(counts) {
		return nil
	}
	out := make([]int, 0, len(ids)+extra)
	k := 0
	for _, id := range ids {
		if id != imageTokenID {
			out = append(out, id)
			continue
		}
		for c := 0; c < counts[k]; c++ {
			out = append(out, imageTokenID)
		}
		k++
	}
	return out
}

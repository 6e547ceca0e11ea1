package embed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/airvec/airvec/embed"
	"github.com/airvec/airvec/internal/testdata"
)

func Example() {
	dir := filepath.Join(testdata.Root(), "models", "bert-zh-mini-embed")
	m, err := embed.Load(dir, embed.WithThreads(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	// The service request: queries get the model's query prompt.
	req, _ := embed.ParseRequest([]byte(`{"input": ["北京有什么好玩的地方？", "how to bake bread"], "input_type": "query", "dimension": 16}`))
	resp, err := m.Embed(context.Background(), req)
	if err != nil {
		b, _ := json.Marshal(err)
		fmt.Println(string(b))
		return
	}
	fmt.Println(m.Architecture(), m.Pooling(), m.Dimension(), m.MaxTokens())
	fmt.Printf("%q\n", m.Prompt(embed.InputQuery))
	fmt.Println(len(resp.Result.Embeddings), len(resp.Result.Embeddings[1].Embedding), resp.Usage.TokenCount)
	// Output:
	// bert cls 32 512
	// "为这个句子生成表示以用于检索相关文章："
	// 2 16 59
}

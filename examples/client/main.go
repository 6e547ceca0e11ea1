// A client of `airvec serve` that uses only net/http: the same requests a
// program would send to the hosted service.
//
//	airvec serve -model ops-text-embedding-001=DIR -model ops-bge-reranker-larger=DIR2 &
//	go run ./examples/client -addr http://127.0.0.1:8080 [-key KEY]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "http://127.0.0.1:8080", "airvec serve address")
	key := flag.String("key", "", "API key (Authorization: Bearer)")
	workspace := flag.String("workspace", "default", "workspace name in the route")
	embedID := flag.String("embed", "ops-text-embedding-001", "embedding service id")
	rerankID := flag.String("rerank", "", "ranking service id (optional)")
	flag.Parse()

	var emb struct {
		Usage struct {
			TokenCount int `json:"token_count"`
		} `json:"usage"`
		Result struct {
			Embeddings []struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			} `json:"embeddings"`
		} `json:"result"`
	}
	err := call(*addr+"/v3/openapi/workspaces/"+*workspace+"/text-embedding/"+*embedID, *key,
		map[string]any{"input": []string{"科学技术是第一生产力", "airvec serves embeddings locally"}, "input_type": "document"}, &emb)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range emb.Result.Embeddings {
		fmt.Printf("embedding %d: %d dims, first %.4f\n", e.Index, len(e.Embedding), e.Embedding[0])
	}
	fmt.Println("tokens:", emb.Usage.TokenCount)

	if *rerankID != "" {
		var rr struct {
			Result struct {
				Scores []struct {
					Index int     `json:"index"`
					Score float64 `json:"score"`
				} `json:"scores"`
			} `json:"result"`
		}
		err := call(*addr+"/v3/openapi/workspaces/"+*workspace+"/ranker/"+*rerankID, *key,
			map[string]any{"query": "上海有什么好玩的", "docs": []string{"上海有许多好玩的地方", "北京有许多好玩的地方"}}, &rr)
		if err != nil {
			log.Fatal(err)
		}
		for _, s := range rr.Result.Scores {
			fmt.Printf("doc %d: %.4f\n", s.Index, s.Score)
		}
	}
}

// call POSTs req as JSON and decodes the answer into resp; a non-200 answer
// is the service's error object {"request_id","latency","code","message"}.
func call(url, key string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	if key != "" {
		hr.Header.Set("Authorization", "Bearer "+key)
	}
	r, err := http.DefaultClient.Do(hr)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if r.StatusCode != http.StatusOK {
		var e struct {
			RequestID string `json:"request_id"`
			Code      string `json:"code"`
			Message   string `json:"message"`
		}
		json.Unmarshal(b, &e)
		return fmt.Errorf("%s: %s %s: %s (request %s)", url, r.Status, e.Code, e.Message, e.RequestID)
	}
	return json.Unmarshal(b, resp)
}

// Package sim is a built-in simulator of an OpenAI-compatible LLM inference
// server. benchplan uses it as a stand-in for vLLM (or TGI, see
// Config.Flavor): it speaks the same wire protocol (paths, JSON shapes, SSE
// streaming, error bodies, /metrics) but generates text instantly from a
// fixed word list and only spends time where a real server would.
//
// # Modes
//
// With only Model, TTFT, ITL and Seed set (fixed-latency mode) every request
// follows the timing below whatever the load. Setting any engine knob of
// Config, or starting from a profile (ProfileConfig), turns on the engine
// model: continuous batching with a max_num_seqs limit, a FCFS waiting
// queue, prefill costing PrefillOverhead + PrefillPerToken per uncached
// prompt token (+ PrefillAttention for long prompts), decode costing
// DecodeBase + DecodePerSeq per running sequence + DecodePerKVToken per
// cached token, scheduled like vLLM's V1 engine (chunked prefill mixed with
// decoding in one step) or its V0 engine (prefill steps of their own; see
// Config.Engine), a KV-cache budget
// that limits admission (paged with preemption like vLLM, or reserved like
// TGI), and an optional prefix cache. In engine mode TTFT and ITL are added
// to every prefill and decode step. docs/simulator.md describes the model,
// the profiles, the metrics, the faults and every knob.
//
// # Endpoints
//
//   - GET  /health                returns 200 with an empty body.
//   - GET  /v1/models             returns an OpenAI model list: the served model, then
//     each LoRA adapter (Config.LoraAdapters) with vLLM's root and parent.
//   - POST /tokenize              returns {"count":N,"max_model_len":8192,"tokens":[...]}
//     for {"prompt":...} or {"messages":[...]}.
//   - POST /v1/chat/completions   OpenAI chat completions, streaming or not.
//   - POST /v1/completions        OpenAI (legacy) text completions, streaming or not.
//   - POST /v1/embeddings         vLLM's embeddings: deterministic unit vectors of
//     Config.EmbeddingDim floats (or base64), usage the inputs' tokens (vllm
//     flavour only; see embeddings.go).
//   - POST /v1/rerank             vLLM's rerank: a deterministic relevance score per
//     document, best first (vllm flavour only; see rerank.go).
//   - GET  /metrics               Prometheus text with vLLM's metric names (TGI's for
//     the tgi flavour).
//   - GET  /info                  TGI's info object (tgi flavour only).
//
// During Config.StartupDelay every endpoint but /metrics answers 503.
//
// Unknown paths answer 404 {"detail":"Not Found"} and known paths called
// with the wrong method answer 405 {"detail":"Method Not Allowed"}, as
// vLLM's FastAPI front end does. Request errors use the OpenAI error shape
// {"error":{"message":...,"type":"BadRequestError"|"NotFoundError","param":null,"code":N}}.
// Unknown request fields are ignored. The tgi flavour answers TGI's way:
// empty 404 and 405 bodies, {"error":...,"error_type":...} errors, 422 for
// invalid requests, and any model name is accepted.
//
// # Tokenizer
//
// The simulator's tokenizer is deliberately trivial and documented so that
// clients can reproduce every count exactly: one token per
// whitespace-separated word, as split by [strings.Fields] (see
// [CountTokens]). The prompt of a chat request is the contents of all its
// messages (a content given as an array of parts is the text of its "text"
// parts joined by "\n", and its "image_url" parts, base64 data URLs, add
// [ImageTokens] each to the prompt tokens); the prompt of a completions request is the prompt
// string, or the array elements joined by "\n" (an array of integer token
// ids counts one token per id). Every generated token is a single word from
// a fixed lower-case word list preceded by one space (for example " lorem"),
// so CountTokens applied to the generated text equals completion_tokens.
//
// # Output length
//
// The effective maximum is max_completion_tokens when it is positive (chat
// only), otherwise max_tokens when it is positive, otherwise a default of
// [DefaultChatMaxTokens] (256) for chat and [DefaultCompletionMaxTokens]
// (16) for completions, like vLLM and OpenAI. A maximum that is given but
// not positive is a 400 error. With "ignore_eos": true exactly the maximum is
// generated and finish_reason is "length". Otherwise the request stops at
// the smaller of the maximum and a "natural" length, in
// [MinNaturalTokens, MaxNaturalTokens], that stands for the model sampling
// EOS: it is a deterministic function of Config.Seed and the prompt text
// (see [NaturalLength]). finish_reason is "length" when the maximum was
// reached and "stop" otherwise. "min_tokens" raises the natural length.
//
// # Timing (fixed-latency mode)
//
// Times are measured from the arrival of the request (t0). Content token k
// (0-based) is sent at t0 + TTFT + k*ITL; deadlines are absolute so no drift
// accumulates. A chat stream sends its role-only chunk at once. Events
// whose deadline has already passed are written back to back and flushed
// together; the stream is always flushed before waiting, so no event is held
// past its deadline (with TTFT = ITL = 0 a whole stream leaves in one write).
// A non-streaming request is answered at t0 + TTFT + (C-1)*ITL, C being the
// number of generated tokens. A client that disconnects stops its stream at
// once (in engine mode its sequence also leaves the batch and frees its KV
// blocks).
//
// # Faults
//
// ErrorRate500, ErrorRate429, StallRate, DropRate and MalformedRate inject
// failures into a deterministic fraction of generation requests (see
// docs/simulator.md); MaxConcurrentRequests answers 429 beyond a number of
// requests in flight.
package sim

// llama.cpp's own decoding speed, measured the way `llama-bench -p 0 -n N` measures "tg":
// one token per llama_decode call, greedy, nothing else in the loop. Built by
// models/bench/speed against the static libraries the llama-cpp-sys-2 crate compiled (the
// crate vendors llama.cpp's library sources but not the llama-bench tool itself), so both
// sides run the very same kernels.
//
//   tg MODEL THREADS TOKENS REPS   ->   one JSON line: median tokens/s
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "llama.h"

static void quiet(ggml_log_level, const char *, void *) {}

int main(int argc, char ** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s MODEL THREADS TOKENS REPS\n", argv[0]);
        return 2;
    }
    const int threads = std::atoi(argv[2]), n = std::atoi(argv[3]), reps = std::atoi(argv[4]);
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        std::fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::vector<double> tps;
    for (int r = 0; r < reps; r++) {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 1024;
        cp.n_batch = 1024;
        cp.n_threads = threads;
        cp.n_threads_batch = threads;
        llama_context * ctx = llama_init_from_model(model, cp);
        llama_sampler * greedy = llama_sampler_init_greedy();
        llama_token token = llama_vocab_bos(vocab);
        llama_batch first = llama_batch_get_one(&token, 1);
        llama_decode(ctx, first);
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < n; i++) {
            token = llama_sampler_sample(greedy, ctx, -1);
            llama_batch b = llama_batch_get_one(&token, 1);
            llama_decode(ctx, b);
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        tps.push_back(n / s);
        llama_sampler_free(greedy);
        llama_free(ctx);
    }
    std::sort(tps.begin(), tps.end());
    std::printf("{\"tg_tps\": %.2f, \"threads\": %d, \"tokens\": %d, \"reps\": %d}\n", tps[tps.size() / 2], threads, n,
                reps);
    llama_model_free(model);
    return 0;
}

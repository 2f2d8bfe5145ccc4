// llama.cpp's reasoning-budget sampler behind the C shim; see include/corral_chat.h.
#include "corral_chat.h"

#include <common.h>
#include <reasoning-budget.h>

#include <climits>
#include <vector>

extern "C" struct llama_sampler *corral_reasoning_budget_new(const struct llama_vocab *vocab, const int32_t *start,
                                                             size_t start_count, const int32_t *ends,
                                                             const size_t *end_lengths, size_t end_count,
                                                             const int32_t *prefill, size_t prefill_count,
                                                             int budget) {
    try {
        if (start_count == 0 || end_count == 0) return nullptr;
        llama_tokens start_seq(start, start + start_count);
        std::vector<llama_tokens> end_seqs;
        for (size_t i = 0, at = 0; i < end_count; at += end_lengths[i], i++) {
            end_seqs.emplace_back(ends + at, ends + at + end_lengths[i]);
        }
        auto sampler = common_reasoning_budget_init(vocab, {start_seq}, end_seqs, end_seqs.front(),
                                                    budget < 0 ? INT_MAX : budget);
        // The template may have opened the thinking section already (in the generation
        // prompt); the sampler sees those tokens, as llama.cpp's common sampler feeds them.
        for (size_t i = 0; i < prefill_count; i++) llama_sampler_accept(sampler, prefill[i]);
        return sampler;
    } catch (...) {
        return nullptr;
    }
}

extern "C" int corral_reasoning_budget_state(const struct llama_sampler *sampler) {
    return static_cast<int>(common_reasoning_budget_get_state(sampler));
}

extern "C" size_t corral_reasoning_budget_end_match(const struct llama_sampler *sampler, const int32_t **tokens) {
    const llama_tokens *match = common_reasoning_budget_get_end_match(sampler);
    *tokens = match ? match->data() : nullptr;
    return match ? match->size() : 0;
}

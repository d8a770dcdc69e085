#include "pg/hash.hpp"

#include "pg/boundary.hpp"

namespace ce::pg {

void content_hash(std::string_view data, char out[kContentHashChars]) {
    uint8 digest[PG_SHA256_DIGEST_LENGTH];
    pg_call([&data, &digest] {
        // The context is registered with the current resource owner: an error
        // below frees it when the (sub)transaction aborts.
        pg_cryptohash_ctx* ctx = pg_cryptohash_create(PG_SHA256);
        if (ctx == nullptr) ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
        if (pg_cryptohash_init(ctx) < 0 ||
            pg_cryptohash_update(ctx, reinterpret_cast<const uint8*>(data.data()), data.size()) < 0 ||
            pg_cryptohash_final(ctx, digest, sizeof digest) < 0) {
            const char* reason = pg_cryptohash_error(ctx);
            ereport(ERROR, (errcode(CE_ERRCODE_INTERNAL), errmsg("could not compute a SHA-256 content hash"),
                            errdetail_internal("{\"reason\": \"%s\"}", reason != nullptr ? reason : "unknown")));
        }
        pg_cryptohash_free(ctx);
    });
    static const char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < sizeof digest; ++i) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
}

std::string content_hash(std::string_view data) {
    std::string s(kContentHashChars, '0');
    content_hash(data, s.data());
    return s;
}

bool is_content_hash(std::string_view s) noexcept {
    if (s.size() != kContentHashChars) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace ce::pg

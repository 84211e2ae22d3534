/* Hash tables for names and pointers, so that lookups by name (children,
 * parameters, state_dict keys) and visited sets stay O(1) in models of
 * 100,000 modules.
 *
 * Open addressing with linear probing, capacity a power of two, at most
 * half full.  Names come from files (model files, safetensors headers), so
 * they are hashed with SipHash-1-3 under a per-process random key: a file
 * cannot be crafted to make every name collide.  Nothing iterates a table
 * to produce output, so the random key never changes what lamina prints. */
#include "runtime/core/core.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t sip_key[2];
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_init(void)
{
    uint64_t k[2] = {0, 0};
    bool ok = false;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ok = read(fd, k, sizeof k) == (ssize_t)sizeof k;
        close(fd);
    }
    if (!ok) { /* no /dev/urandom (a sandbox): still differs from run to run */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        k[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u ^ (uint64_t)ts.tv_sec;
        k[1] = (uint64_t)(uintptr_t)&ts * 0xBF58476D1CE4E5B9u ^ (uint64_t)getpid();
    }
    sip_key[0] = k[0];
    sip_key[1] = k[1];
}

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);                                  \
        v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;                                                     \
        v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;                                                     \
        v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);                                  \
    } while (0)

/* SipHash-1-3 (one compression round, three finalization rounds). */
uint64_t lam__hash_bytes(const void *data, size_t len)
{
    pthread_once(&sip_once, sip_init);
    const unsigned char *p = data;
    uint64_t v0 = sip_key[0] ^ 0x736f6d6570736575u, v1 = sip_key[1] ^ 0x646f72616e646f6du;
    uint64_t v2 = sip_key[0] ^ 0x6c7967656e657261u, v3 = sip_key[1] ^ 0x7465646279746573u;
    size_t n = len;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t m = 0;
        for (int i = 0; i < 8; i++)
            m |= (uint64_t)p[i] << (8 * i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < n; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- name -> value ---- */

static bool strmap_grow(lam__strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    lam__strmap_slot *s = calloc(cap, sizeof *s);
    if (!s)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = (size_t)m->slots[i].hash & (cap - 1);
        while (s[j].key)
            j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return true;
}

size_t *lam__strmap_getn(const lam__strmap *m, const char *key, size_t len)
{
    if (!m || !m->n)
        return NULL;
    uint64_t h = lam__hash_bytes(key, len);
    for (size_t j = (size_t)h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        lam__strmap_slot *s = &m->slots[j];
        if (!s->key)
            return NULL;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return &s->val;
    }
}

size_t *lam__strmap_get(const lam__strmap *m, const char *key)
{
    return lam__strmap_getn(m, key, strlen(key));
}

size_t *lam__strmap_putn(lam__strmap *m, const char *key, size_t len, size_t val, bool *added)
{
    if ((m->n + 1) * 2 > m->cap && !strmap_grow(m))
        return NULL;
    uint64_t h = lam__hash_bytes(key, len);
    size_t j = (size_t)h & (m->cap - 1);
    for (; m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
        lam__strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            if (added)
                *added = false;
            return &s->val;
        }
    }
    m->slots[j] = (lam__strmap_slot){.key = key, .len = len, .hash = h, .val = val};
    m->n++;
    if (added)
        *added = true;
    return &m->slots[j].val;
}

void lam__strmap_free(lam__strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    m->slots = NULL;
    m->n = m->cap = 0;
}

/* ---- pointer -> value ---- */

static size_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p; /* splitmix64's finalizer */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return (size_t)(x ^ (x >> 31));
}

static bool ptrmap_grow(lam__ptrmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 8;
    lam__ptrmap_slot *s = calloc(cap, sizeof *s);
    if (!s)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = ptr_hash(m->slots[i].key) & (cap - 1);
        while (s[j].key)
            j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return true;
}

size_t *lam__ptrmap_get(const lam__ptrmap *m, const void *key)
{
    if (!m || !m->n)
        return NULL;
    for (size_t j = ptr_hash(key) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        if (m->slots[j].key == key)
            return &m->slots[j].val;
        if (!m->slots[j].key)
            return NULL;
    }
}

size_t *lam__ptrmap_put(lam__ptrmap *m, const void *key, size_t val, bool *added)
{
    size_t *v = lam__ptrmap_get(m, key);
    if (v) {
        if (added)
            *added = false;
        return v;
    }
    if ((m->n + 1) * 2 > m->cap && !ptrmap_grow(m))
        return NULL;
    size_t j = ptr_hash(key) & (m->cap - 1);
    while (m->slots[j].key)
        j = (j + 1) & (m->cap - 1);
    m->slots[j].key = key;
    m->slots[j].val = val;
    m->n++;
    if (added)
        *added = true;
    return &m->slots[j].val;
}

bool lam__ptrmap_remove(lam__ptrmap *m, const void *key)
{
    if (!m || !m->n)
        return false;
    size_t mask = m->cap - 1, j = ptr_hash(key) & mask;
    while (m->slots[j].key != key) {
        if (!m->slots[j].key)
            return false;
        j = (j + 1) & mask;
    }
    /* backward-shift deletion: no tombstones, probes stay short */
    for (size_t k = (j + 1) & mask; m->slots[k].key; k = (k + 1) & mask) {
        size_t home = ptr_hash(m->slots[k].key) & mask;
        /* move k into the hole j unless its home lies cyclically in (j, k] */
        bool stays = j <= k ? (j < home && home <= k) : (j < home || home <= k);
        if (!stays) {
            m->slots[j] = m->slots[k];
            j = k;
        }
    }
    m->slots[j].key = NULL;
    m->slots[j].val = 0;
    m->n--;
    return true;
}

void lam__ptrmap_free(lam__ptrmap *m)
{
    if (!m)
        return;
    free(m->slots);
    m->slots = NULL;
    m->n = m->cap = 0;
}

// daemon_main::tune_allocator (issue 14): glibc malloc keeps freed memory
// for reuse instead of giving every large block back to the kernel.
#include <malloc.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "daemon/allocator.hpp"

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerAllocator = true;
#else
constexpr bool kSanitizerAllocator = false;
#endif

TEST(Allocator, LeftAloneWhenTheAdministratorTunesMalloc) {
    const char* before = std::getenv("GLIBC_TUNABLES");
    const std::string saved = before ? before : "";
    setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1048576", 1);
    EXPECT_FALSE(daemon_main::tune_allocator());
    if (before) setenv("GLIBC_TUNABLES", saved.c_str(), 1);
    else unsetenv("GLIBC_TUNABLES");
}

// A 2 MiB block (a large message's buffers) comes from the heap, not from
// mmap, and once freed stays there for the next message: glibc's defaults
// (mmap from 128 KiB, trim above 128 KiB) fail both checks.
TEST(Allocator, LargeBlocksStayInTheHeapAfterFree) {
    if (kSanitizerAllocator) GTEST_SKIP() << "a sanitizer's allocator is in use";
    if (const char* t = std::getenv("GLIBC_TUNABLES"); t && std::strstr(t, "glibc.malloc."))
        GTEST_SKIP() << "GLIBC_TUNABLES tunes malloc in this environment";
    ASSERT_TRUE(daemon_main::tune_allocator());
    constexpr std::size_t kBlock = 2u << 20;
    const auto mapped_before = mallinfo2().hblks;
    void* p = std::malloc(kBlock);
    ASSERT_NE(p, nullptr);
    std::memset(p, 1, kBlock);
    EXPECT_EQ(mallinfo2().hblks, mapped_before) << "the block was mmapped";
    std::free(p);
    EXPECT_GE(mallinfo2().keepcost, kBlock) << "the freed block went back to the kernel";
}

}  // namespace

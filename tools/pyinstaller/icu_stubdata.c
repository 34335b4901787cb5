/* An empty ICU data library: stands in for Qt's libicudata.so.NN (32 MB) in the Linux bundle.
 *
 * ICU's libicuuc looks its data items (locales, collation rules, break rules, codepage tables, time
 * zone names...) up in one "common data package" that libicudata exports as the symbol icudtNN_dat.
 * This file defines that symbol as a valid package with an empty table of contents (what ICU calls
 * "stubdata"): every lookup of a data item fails cleanly (U_MISSING_RESOURCE_ERROR / file not
 * found), and Qt falls back to its own code. What ICU compiles into libicuuc itself (Unicode
 * properties, case mapping, normalization, the UTF-8/16/32, Latin-1 and ASCII converters) still works.
 *
 * Built by build.spec at bundle-build time:
 *     gcc -shared -fPIC -O2 -DICU_DATA_SYMBOL=icudt73_dat -Wl,-soname,libicudata.so.73 -o ... this.c
 * The layout is ICU's data header (udata.h, ucmndata.h): a 16-bit header size, the magic bytes 0xda
 * 0x27, the 20-byte UDataInfo (data format "CmnD", format version 1), then at header size the count of
 * table-of-contents entries.
 */
#include <stdint.h>

#ifndef ICU_DATA_SYMBOL
#error "build with -DICU_DATA_SYMBOL=icudt<ICU major version>_dat"
#endif

struct data_info {                /* ICU's UDataInfo */
    uint16_t size;                /* of this struct: 20 */
    uint16_t reserved_word;
    uint8_t is_big_endian;
    uint8_t charset_family;       /* 0: ASCII */
    uint8_t sizeof_uchar;         /* 2: UTF-16 code units */
    uint8_t reserved_byte;
    uint8_t data_format[4];       /* "CmnD": a common data package (a table of contents of items) */
    uint8_t format_version[4];
    uint8_t data_version[4];
};

struct empty_common_data {
    uint16_t header_size;         /* bytes before the table of contents */
    uint8_t magic1, magic2;       /* 0xda, 0x27 */
    struct data_info info;
    uint8_t padding[8];           /* to header_size = 32 */
    uint32_t count;               /* table-of-contents entries: none */
    uint32_t unused_entry[2];     /* one (name, data) offset pair, never read since count is 0 */
};

_Static_assert(sizeof(struct data_info) == 20, "UDataInfo is 20 bytes");
_Static_assert(sizeof(struct empty_common_data) == 32 + 4 + 8, "header of 32 bytes, then the count");

__attribute__((visibility("default"), aligned(16)))
const struct empty_common_data ICU_DATA_SYMBOL = {
    .header_size = 32,
    .magic1 = 0xda,
    .magic2 = 0x27,
    .info = {
        .size = sizeof(struct data_info),
        .is_big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__,
        .charset_family = 0,
        .sizeof_uchar = 2,
        .data_format = {'C', 'm', 'n', 'D'},
        .format_version = {1, 0, 0, 0},
        .data_version = {0, 0, 0, 0},
    },
    .count = 0,
};

/* libFuzzer target: the adenroll.conf parser and [user] expansion must
 * never crash, leak or read out of bounds on any bytes. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct config cfg;
	char err[512];

	if (!init) {
		setenv("HOME", "/home/fuzz", 1);
		setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
		log_init(LOG_LVL_ERROR, false);
		init = true;
	}
	if (config_parse_buffer("fuzz.conf", (const char *)data, size, &cfg, err, sizeof(err)) == 0)
		(void)config_apply_user_mode(&cfg);
	config_free(&cfg);
	return 0;
}

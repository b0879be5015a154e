package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcessCPU returns the CPU time process pid has used so far, read from /proc (Linux's
// USER_HZ is 100); 0 when it cannot be read. Benchmarks use it for CPU per row.
func ProcessCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// MachineBusy returns the CPU time all cores have spent so far on anything but idling and
// waiting, read from /proc/stat.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	var busy int
	for i, v := range strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:] {
		if n, _ := strconv.Atoi(v); i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

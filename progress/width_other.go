//go:build !unix

package progress

import "os"

func winsizeCols(*os.File) int { return 0 }

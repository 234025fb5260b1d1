package argo_test

import "fmt"

var sprintf = fmt.Sprintf

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/teamsflow/teamsflow/agent/record"
)

// Output shared by the live commands and analyze (which runs anywhere).

func printJSON(w io.Writer, records []record.Record) error {
	enc := json.NewEncoder(w)
	for i := range records {
		if err := enc.Encode(&records[i]); err != nil {
			return err
		}
	}
	return nil
}

func hostPort(addr string, port uint16) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Command list-students prints every student of every school, one line each:
// school, student id, name. It is the smallest integration of pkg/client (its
// dependencies and binary size are tracked in docs/DEPENDENCIES.md).
//
// It reads INTEROP_URL, INTEROP_CLIENT_ID, INTEROP_CLIENT_SECRET and
// INTEROP_TOKEN_URL, whose defaults match make run (list-students -h):
//
//	make run &
//	go run ./examples/list-students
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/interop-data/interop/examples/internal/exampleenv"
)

func main() {
	exampleenv.Parse("list-students", "Prints every student of every school: school, student id, name.")
	if err := run(context.Background()); err != nil {
		log.Fatal(exampleenv.Explain(err))
	}
}

func run(ctx context.Context) error {
	c, err := exampleenv.Client()
	if err != nil {
		return err
	}
	for school, err := range c.Schools(ctx, nil) {
		if err != nil {
			return err
		}
		for st, err := range c.StudentsForOrg(ctx, school.Sys.ID, nil) {
			if err != nil {
				return err
			}
			fmt.Printf("%s\t%s\t%s %s\n", school.Name, st.Sys.ID, st.Name.First, st.Name.Last)
		}
	}
	return nil
}

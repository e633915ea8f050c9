// Command roster-export writes every student of every school to CSV on
// standard output, one row per school membership.
//
// It reads INTEROP_URL, INTEROP_CLIENT_ID, INTEROP_CLIENT_SECRET and
// INTEROP_TOKEN_URL, whose defaults match make run (roster-export -h):
//
//	make run &
//	go run ./examples/roster-export > students.csv
package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"github.com/google/uuid"

	"github.com/interop-data/interop/examples/internal/exampleenv"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/client"
)

func main() {
	exampleenv.Parse("roster-export > students.csv", "Writes every student of every school to CSV on standard output, one row per\nschool membership.")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		log.Fatal(exampleenv.Explain(err))
	}
}

func run(ctx context.Context) error {
	c, err := exampleenv.Client()
	if err != nil {
		return err
	}
	return export(ctx, c, os.Stdout)
}

// header names the columns export writes.
var header = []string{"school_id", "school_name", "student_id", "local_id", "first_name", "last_name", "email", "grad_year"}

// export writes the header, then one row per student of each school. Names
// are written as the API returns them (UTF-8); encoding/csv quotes commas,
// quotes and line breaks.
func export(ctx context.Context, c *client.Client, out io.Writer) error {
	w := csv.NewWriter(out)
	// On an error, the rows written so far still reach out, whole: the
	// output ends on a row boundary, not wherever the buffer was.
	defer w.Flush()
	if err := w.Write(header); err != nil {
		return err
	}
	for school, err := range c.Schools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("listing schools: %w", err)
		}
		if school.Sys.ID == uuid.Nil {
			continue
		}
		for st, err := range c.StudentsForOrg(ctx, school.Sys.ID, &client.ListOptions{PageSize: 500}) {
			if err != nil {
				return fmt.Errorf("listing students of %s: %w", school.Sys.ID, err)
			}
			if err := w.Write([]string{school.Sys.ID.String(), school.Name, id(st), st.LocalID,
				st.Name.First, st.Name.Last, st.Email, st.GradYear}); err != nil {
				return err
			}
		}
	}
	w.Flush()
	return w.Error()
}

// id is the person's $sys.id, empty when the server sent none.
func id(p models.Person) string {
	if p.Sys.ID == uuid.Nil {
		return ""
	}
	return p.Sys.ID.String()
}

package record

import "testing"

func TestLabelRankFollowsReadingOrder(t *testing.T) {
	all := Labels()
	if len(all) != 10 {
		t.Fatalf("%d labels: %v", len(all), all)
	}
	for i, l := range all {
		if LabelRank(l) != i {
			t.Errorf("LabelRank(%q) = %d, want %d", l, LabelRank(l), i)
		}
	}
	if LabelRank(LabelSignalling) >= LabelRank(LabelAudio) || LabelRank(LabelAudio) >= LabelRank(LabelRTCP) {
		t.Error("control must come before media, media before rtcp")
	}
	for _, l := range []string{"", "nonsense"} {
		if LabelRank(l) != len(all) {
			t.Errorf("LabelRank(%q) = %d, want last (%d)", l, LabelRank(l), len(all))
		}
	}
	all[0] = "changed"
	if Labels()[0] != LabelSignalling {
		t.Error("Labels hands out its own array")
	}
}

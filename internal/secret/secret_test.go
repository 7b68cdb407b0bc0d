package secret

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"HF_TOKEN": true, "api_key": true, "X-Auth-Token": true, "apiKey": true, "MY_PASSWORD": true, "--hf-token": true,
		"OPENAI_API_KEY": true, "X-Api-Key": true, "Authorization": true, "DB_PASSWORD": true, "aws-secret-access-key": true, "session": true,
		"MAX_INPUT_TOKENS": false, "MAX_TOTAL_TOKENS": false, "NUM_SHARD": false, "MODEL_ID": false, "keyboard": false,
		"model": false, "monkey": false, "RATE": false,
		"DBPASSWORD": true, "MYSECRET": true, "APITOKEN": true, "GITHUBTOKEN": true, "MAXTOKENS": false, "TOKENS": false,
	} {
		assert.Equal(t, LooksSecret(name), want, name)
	}
}

func TestURLPassword(t *testing.T) {
	assert.Equal(t, URLPassword("http://u:pw123@host:8000/v1"), "pw123")
	assert.Equal(t, URLPassword("http://u@host"), "")
	assert.Equal(t, URLPassword("http://host"), "")
	assert.Equal(t, RedactURL("http://u:pw123@host:8000/v1"), "http://u:[redacted]@host:8000/v1")
	assert.Equal(t, RedactURL("http://host:8000"), "http://host:8000")
}

func TestRedactURLs(t *testing.T) {
	assert.Equal(t, RedactURLs("waiting for http://u:pw@127.0.0.1:80/x and https://a:b@h now"),
		"waiting for http://u:[redacted]@127.0.0.1:80/x and https://a:[redacted]@h now")
	assert.Equal(t, RedactURLs("mail me at a@b.c, see http://h/"), "mail me at a@b.c, see http://h/")
}
